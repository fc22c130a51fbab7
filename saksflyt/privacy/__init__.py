"""Personal data: the municipality's key ring, per-case data keys, sealed input, erasure."""
