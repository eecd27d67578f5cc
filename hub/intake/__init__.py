"""The trigger intake: webhooks (verified, deduplicated, durable), schedule fires and polled
items all become a trigger event plus a run, committed in one transaction."""

from __future__ import annotations

from hub.intake.service import Answer, Hook, Intake, intake_of

__all__ = ["Answer", "Hook", "Intake", "intake_of"]
