"""Notifications: the outbox tasks, the senders (webhooks, SES, SMTP, files), the messages, starting delivery runs."""
