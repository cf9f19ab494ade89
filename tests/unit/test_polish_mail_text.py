"""Polish mails address every customer alike: no second-person past forms that exist only
in the masculine (or only in the feminine), which Polish marks on the verb."""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

import pytest

POLISH = Path(str(files("ebok") / "templates" / "email" / "pl"))
# "zakładałeś", "prosiłaś", "byłeś": a past tense verb in the 2nd person singular.
GENDERED = re.compile(r"\b\w+(?:łeś|łaś)\b", re.IGNORECASE)


def test_there_are_polish_templates() -> None:
    assert len(list(POLISH.glob("*.txt"))) > 10


@pytest.mark.parametrize("template", sorted(p.name for p in POLISH.iterdir() if p.is_file()))
def test_no_gendered_second_person(template: str) -> None:
    assert GENDERED.findall((POLISH / template).read_text(encoding="utf-8")) == []


def test_the_check_sees_a_gendered_form() -> None:
    assert GENDERED.findall("Jeśli to nie Ty zakładałeś konto") == ["zakładałeś"]
