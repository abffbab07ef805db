"""The one exception hierarchy of purdah. No presentation here: the CLI maps these to messages."""


class PurdahError(Exception):
    """Base class: something purdah could not do, with a message that says what to do next."""

    exit_code = 1


class InputError(PurdahError):
    """The question itself is malformed (bad id, bad date, contradictory options)."""

    exit_code = 2


class ElectionIdError(InputError):
    """A Democracy Club election id that does not parse or that purdah's rules do not cover."""


class NationError(InputError):
    """The nation is missing where the id does not fix it, or contradicts the id."""


class CalendarCoverageError(InputError):
    """A date falls outside the years the holiday data covers: purdah will not guess."""


class NotFound(PurdahError):
    """A council, councillor or election that is not in the register."""

    exit_code = 2


class PollError(InputError):
    """A poll that cannot be held as given (a day the law excludes, an election that does not
    exist there, a general election after the legal maximum), or one no rule purdah knows was
    in force for: refused with the reason and the law that says so."""


class ServiceError(PurdahError):
    """The HTTP service cannot start (the address is taken, or cannot be listened on)."""


class StoreError(PurdahError):
    """The store cannot be opened, is not a purdah store, or is not initialised."""

    exit_code = 2


class FeedRejected(PurdahError):
    """A source as a whole cannot be used (unreadable, not iCalendar, over a limit):
    nothing from it is imported."""

    exit_code = 1


class FeedFailed(PurdahError):
    """A registered feed could not be fetched or imported; its last good data is kept."""

    exit_code = 1


class FetchCancelled(PurdahError):
    """The fetch was abandoned because the process is stopping (not the feed's fault)."""


class EveryElectionError(PurdahError):
    """A file or response that claims to be EveryElection JSON but is not usable."""


class RuleError(PurdahError):
    """A recurrence rule (RRULE) that cannot be read at all: its event is skipped."""


class RuleRefused(PurdahError):
    """A recurrence rule that is readable but absurd for an election calendar (it repeats
    more than once a day): its source is refused."""


class SourceShrank(FeedRejected):
    """A source has far fewer polls than last time (a partial download, or the options)."""

    def __init__(self, message: str, before: int = 0, present: int = 0) -> None:
        super().__init__(message)
        self.before = before
        self.present = present


class NothingImported(PurdahError):
    """An import that would record nothing: said, with why, instead of "imported 0"."""

    exit_code = 1


class StoreBusy(PurdahError):
    """Another writer held the store's write lock longer than the bounded wait: nothing was
    written (retry; if it persists, find the process that holds the lock)."""

    exit_code = 3


class ConcurrentWrite(PurdahError):
    """The stored flags or the reconcile mark changed under a write that held the lock:
    purdah refuses to record what it cannot vouch for, and rolls the write back."""

    exit_code = 3


class MailSettingsError(InputError):
    """The e-mail settings in the environment are missing or unusable (the message names
    the variable and what to set it to); nothing is planned or sent."""


class MailFailed(PurdahError):
    """An e-mail could not be handed to the SMTP server (`purdah mail test`)."""

    exit_code = 1
