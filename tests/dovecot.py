"""The Dovecot runner lives in `checkin.demo.dovecot` (the demo uses it too); tests import it
from here as before."""

from checkin.demo.dovecot import DOVEADM, DOVECOT, HOST, Dovecot, MailUser, installed

__all__ = ["DOVEADM", "DOVECOT", "HOST", "Dovecot", "MailUser", "installed"]
