"""checkin: email check-ins between therapy sessions."""

__version__ = "0.1.0"
