"""Operating the app: health (/healthz, `manage.py check_health`) and Prometheus metrics
(/metrics), both read from the database so they are true whichever process answers."""
