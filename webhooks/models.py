"""Partner webhook endpoints and deliveries (built in the partner API issue)."""
