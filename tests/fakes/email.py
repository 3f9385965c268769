"""An email backend whose server is down: every send raises, as an SMTP backend does when it cannot connect."""

import smtplib

from django.core.mail.backends.base import BaseEmailBackend


class UnreachableEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
