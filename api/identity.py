"""Who a request is about: phone and email normalisation, and finding a store's lead."""

from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from api.errors import field_error


def normalise_phone(raw: str, country: str, *, field: str = "phone") -> str:
    """E.164, reading numbers without a country code as the store's country."""
    try:
        number = phonenumbers.parse(raw, country)
    except phonenumbers.NumberParseException as error:
        raise field_error(field, f"not a phone number ({error})") from error
    if not phonenumbers.is_valid_number(number):
        raise field_error(
            field, f"not a valid phone number for region {country} or in +country format"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(value: str | None) -> str | None:
    """Lower-cased and checked; raises ValueError (for pydantic validators) when invalid."""
    if not value:
        return None
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise ValueError(f"not a valid email address: {error}") from error
