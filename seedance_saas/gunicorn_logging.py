"""Gunicorn's access log without URL secrets: `logger_class = "seedance_saas.gunicorn_logging.MaskedSecretsLogger"`."""

from gunicorn.glogging import Logger

from seedance_saas.log_masking import mask_url_secrets


class MaskedSecretsLogger(Logger):
    """Masks /hooks/eachlabs/<secret>/ in every access-log atom (request line, path, referer, headers)."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: mask_url_secrets(value) if isinstance(value, str) else value for key, value in atoms.items()}
