"""Operations: Prometheus metrics, the health and metrics server, JSON logs."""
