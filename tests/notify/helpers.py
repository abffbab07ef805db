"""Notice tests: the Nottinghamshire register with e-mail addresses, and a planner config."""

from __future__ import annotations

from purdah.notify.plan import PlanConfig
from purdah.services.areas import edit_council
from purdah.services.councillors import edit_councillor
from purdah.services.elections import add_election
from tests.services.helpers import SETUP, nottinghamshire, set_clock

CONFIG = PlanConfig(
    lead_days=7, digest_hour=8, public_url="https://purdah.example.gov.uk", domain="example.gov.uk"
)
ELECTION = "local.ashfield.2026-05-07"  # window from 00:00 BST on Monday 30 March 2026


def register_with_addresses(store, *, clerk: bool = False) -> None:
    nottinghamshire(store)
    set_clock(store, SETUP)
    edit_councillor(store, "selston/jane-doe", email="jane@example.org", actor="test")
    edit_councillor(store, "selston/mayor", email="pat@example.org", actor="test")
    if clerk:
        edit_council(store, "selston", clerk_email="clerk@selston.example.gov.uk")
    add_election(store, ELECTION, nation="ENG")
