"""Assembles the production parts chosen by settings into one ``Services`` bundle for the app."""

from __future__ import annotations

from dataclasses import dataclass

from capsight.settings import Settings
from capsight.store.protocols import Authenticator, RateLimiter, RequestRecorder, ResultCache


@dataclass
class Services:
    cache: ResultCache | None = None
    recorder: RequestRecorder | None = None
    rate_limiter: RateLimiter | None = None
    authenticator: Authenticator | None = None

    def close(self) -> None:
        if self.recorder is not None:
            self.recorder.close()


def build_services(settings: Settings) -> Services:
    """Embedded defaults unless settings point at shared backends. (Filled in by the store work.)"""
    return Services()
