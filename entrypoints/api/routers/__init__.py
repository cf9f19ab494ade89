"""One router per process family; each only translates HTTP to a facade call and back."""
