"""Deployment: the reference nginx configuration, systemd units and the local cluster."""
