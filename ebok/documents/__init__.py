"""Printable documents: invoices as PDF."""
