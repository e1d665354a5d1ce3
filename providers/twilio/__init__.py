"""Twilio: SMS and WhatsApp out (`adapter`, the SDK) and its webhooks (`webhook`, no SDK)."""
