"""Gunicorn's access log without secrets: `logger_class = "seedance_saas.gunicorn_logging.MaskedSecretsLogger"`."""

from gunicorn.glogging import Logger

from seedance_saas.observability.redaction import scrub_text


class MaskedSecretsLogger(Logger):
    """Masks /hooks/eachlabs/<secret>/ (and every other secret the log redaction knows) in every access-log atom:
    request line, path, query, referer, headers."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: scrub_text(value) if isinstance(value, str) else value for key, value in atoms.items()}
