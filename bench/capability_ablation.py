"""Verdict accuracy of the capability grading on the demo's resilience switches.

Prints the false ✅ count over the six single-switch ablations (goal 0), the fully fragile profile's score and ✅
count (goal ≤ 20, 0) and the resilient profile's score and ✅ count (goal 100, 8/8). One demo stack, its replicas
recreated per profile; each run goes through the real FMEA flow (Locust load, Chaos Toolkit faults).

    BLISSFUL_STATE_DIR=/tmp/state .venv/bin/python bench/capability_ablation.py [--skip-profiles]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.integration.ablation import ABLATIONS, FRAGILE, PROFILE_SCENARIOS, RESILIENT, DemoLab


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-profiles", action="store_true", help="only the six ablations")
    parser.add_argument("--verbose", action="store_true", help="print every finding as it is judged")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="blissful-ablation-") as tmp:
        lab = DemoLab(Path(tmp), progress=print if args.verbose else None)
        try:
            false_shown = 0
            print(f"{'ablation':<36} {'capability':<18} {'status':<10} scenarios")
            for ablation in ABLATIONS:
                card, rows = lab.run({**RESILIENT, **ablation.env}, ablation.scenarios)
                status = next(c.status for c in card.capabilities if c.name == ablation.capability)
                false_shown += status == "✅"
                verdicts = ", ".join(f"{r['scenario']} {r['verdict']}" for r in rows)
                print(f"{ablation.name:<36} {ablation.capability:<18} {status:<10} {verdicts}")
            print(f"false ✅ over {len(ABLATIONS)} single-switch ablations: {false_shown} (goal 0)")
            if not args.skip_profiles:
                for name, env in (("resilient", RESILIENT), ("fragile", FRAGILE)):
                    card, rows = lab.run(env, PROFILE_SCENARIOS)
                    shown = sum(c.status == "✅" for c in card.capabilities)
                    verdicts = ", ".join(f"{r['scenario']} {r['verdict']}" for r in rows)
                    print(f"{name} profile: score {card.resilience_score:.1f}/100, {shown}/8 capabilities ✅, "
                          f"verdicts: {verdicts}")
                    for check in card.capabilities:
                        print(f"    {check.status:<10} {check.title}: {check.note}")
            print("goals: fragile ≤ 20 with 0 ✅; resilient 100 with 8/8 ✅")
        finally:
            lab.close()
    print(f"elapsed {time.monotonic() - started:.0f} s (timing-sensitive: check `uptime` for machine load)")


if __name__ == "__main__":
    main()
