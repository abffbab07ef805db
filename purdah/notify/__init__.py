"""E-mail notices to councillors and the clerk's daily digest (optional).

settings   SMTP settings, lead time and public URL from the environment (PURDAH_SMTP_*)
addresses  checking an e-mail address before it is stored
plan       which notices are due at an instant, recorded once each (the mail_notice ledger)
compose    the plain-text messages (UK local times, what is restricted, the .ics link)
smtp       one SMTP attempt with smtplib under a total deadline

Not to be confused with purdah.services.notices (notices of election).
"""
