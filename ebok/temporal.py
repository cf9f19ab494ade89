"""Connecting to Temporal the same way from the worker, the facade and the CLI."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.service import TLSConfig

from ebok.codec import data_converter
from ebok.settings import Settings

__all__ = ["connect", "runtime_for"]


def runtime_for(settings: Settings) -> Runtime | None:
    """A runtime exporting SDK metrics to Prometheus when ``metrics_bind`` is set."""
    if not settings.metrics_bind:
        return None
    return Runtime(
        telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=settings.metrics_bind))
    )


def _tls(settings: Settings) -> TLSConfig | bool:
    if settings.temporal_tls_cert and settings.temporal_tls_key:
        return TLSConfig(
            client_cert=settings.temporal_tls_cert.read_bytes(),
            client_private_key=settings.temporal_tls_key.read_bytes(),
        )
    return settings.temporal_api_key is not None  # Temporal Cloud API keys need TLS


async def connect(settings: Settings, runtime: Runtime | None = None) -> Client:
    api_key = settings.temporal_api_key
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings.codec_key_ring),
        tls=_tls(settings),
        api_key=api_key.get_secret_value() if api_key else None,
        runtime=runtime,
    )
