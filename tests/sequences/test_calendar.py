"""Festival dates: Diwali from the `holidays` package, the rest from the table, to 2035; a
year no source knows is named, at publish time, instead of a festive step quietly skipping."""

from __future__ import annotations

from datetime import date

import pytest

from domain.errors import InvalidSequence
from domain.sequences import check_festival_dates
from sequences.calendar import check_known, festival_in_year, known_years
from sequences.loader import parse_sequence
from sequences.vocabulary import Festival
from tests.sequences.test_library import LIBRARY

LUNAR = (Festival.DHANTERAS, Festival.DIWALI, Festival.AKSHAYA_TRITIYA)


@pytest.mark.parametrize("festival", LUNAR)
def test_every_lunar_festival_has_a_date_each_year_to_2035(festival):
    for year in range(2025, 2036):
        day = festival_in_year(festival, year)
        assert day is not None and day.year == year, (festival, year)
    assert max(known_years(festival)) >= 2035


def test_diwali_comes_from_the_holidays_package_and_dhanteras_precedes_it():
    # holidays.India lists Diwali; spot checks against published calendars.
    assert festival_in_year(Festival.DIWALI, 2031) == date(2031, 11, 14)
    assert festival_in_year(Festival.DIWALI, 2035) == date(2035, 10, 30)
    for year in range(2025, 2036):
        diwali = festival_in_year(Festival.DIWALI, year)
        dhanteras = festival_in_year(Festival.DHANTERAS, year)
        assert diwali and dhanteras and 1 <= (diwali - dhanteras).days <= 2, year


def test_akshaya_tritiya_2029_falls_after_the_adhik_month():
    assert festival_in_year(Festival.AKSHAYA_TRITIYA, 2029) == date(2029, 5, 16)
    assert festival_in_year(Festival.AKSHAYA_TRITIYA, 2032) == date(2032, 5, 11)


def test_a_year_no_source_knows_is_named():
    with pytest.raises(ValueError, match="diwali in 2036 is not known"):
        check_known([Festival.DIWALI], date(2036, 1, 1))
    # After this year's Diwali, the next one is next year's: that is the year named.
    with pytest.raises(ValueError, match="akshaya_tritiya in 2036"):
        check_known([Festival.AKSHAYA_TRITIYA], date(2035, 6, 1))
    check_known([Festival.DIWALI, Festival.VALENTINES_DAY], date(2035, 6, 1))


def test_publishing_a_festive_sequence_for_an_unknown_year_names_the_year_and_step():
    diwali = parse_sequence(
        LIBRARY["festive_diwali"].model_dump(mode="json", by_alias=True), "festive_diwali"
    )
    with pytest.raises(InvalidSequence) as refused:
        check_festival_dates(diwali, date(2035, 12, 1))
    assert "2036" in str(refused.value)
    # Dhanteras is checked first: its steps (coins_and_hours, dhanteras_day) are named.
    assert [p.path for p in refused.value.problems] == [
        ("steps", 3, "at", "festival"),
        ("steps", 4, "at", "festival"),
    ]
    check_festival_dates(diwali, date(2035, 1, 1))  # Diwali 2035 is known
