"""The default published rules for provisional release during contingency (issue 20): perishable
exports of HS chapters 06-09 (cut flowers 0603, vegetables, fruit, tea 0902, coffee, spices) and
AEO traders' imports. Each gets its "created" event (actor: none, the system) so the history of a
rule starts with its seeding."""

import datetime as dt

from django.db import migrations

from core.audit import chain_hash, GENESIS_HASH

DEFAULT_RULES = (
    {"code": "perishable-exports", "name": "Perishable exports (HS chapters 06-09)",
     "description": "Live plants and cut flowers (06), vegetables (07), fruit and nuts (08), coffee, tea and "
                    "spices (09) exported: every item must fall under these chapters. The Nov 2024 outage "
                    "stranded KSh 3.25 bn of tea.",
     "flow": "export", "hs_prefixes": ["06", "07", "08", "09"], "requires_aeo": False, "validity_hours": 72,
     "position": 10},
    {"code": "aeo-imports", "name": "Imports of Authorised Economic Operators",
     "description": "Any goods imported by a trader whose AEO profile is active on the day of the submission.",
     "flow": "import", "hs_prefixes": [], "requires_aeo": True, "validity_hours": 72, "position": 20},
)
HASHED = ("rule_id", "kind", "actor_id", "reason", "before", "after", "created_at")


def seed(apps, schema_editor):
    Rule = apps.get_model("maintenance", "ProvisionalReleaseRule")
    Event = apps.get_model("maintenance", "ProvisionalReleaseRuleEvent")
    now = dt.datetime.now(dt.UTC)  # a migration runs outside the domain clock
    for data in DEFAULT_RULES:
        if Rule.objects.filter(code=data["code"]).exists():
            continue
        rule = Rule.objects.create(**data, active=True, created_at=now, updated_at=now)
        after = {"code": rule.code, "name": rule.name, "flow": rule.flow, "hs_prefixes": rule.hs_prefixes,
                 "requires_aeo": rule.requires_aeo, "validity_hours": rule.validity_hours, "active": True,
                 "position": rule.position, "description": rule.description}
        fields = {"rule_id": rule.pk, "kind": "created", "actor_id": None, "reason": "Default rule (issue 20)",
                  "before": {}, "after": after, "created_at": now}
        Event.objects.create(rule=rule, kind="created", reason=fields["reason"], before={}, after=after,
                             created_at=now, prev_hash=GENESIS_HASH, hash=chain_hash(GENESIS_HASH, fields))


class Migration(migrations.Migration):

    dependencies = [
        ("maintenance", "0005_provisional_release_rules"),
    ]

    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
