"""A one-line progress bar on a command's stdout (Django's OutputWrapper, so `call_command`
and tests capture it like any output): the commands need a count and a bar, which is not
worth a dependency."""

BAR_WIDTH = 30


class ProgressBar:
    def __init__(self, stdout, unit: str, total: int = 0):
        self.stdout, self.unit, self.total, self.done = stdout, unit, total, 0

    def show(self, done: int, total: int | None = None) -> None:
        self.done, self.total = done, self.total if total is None else total
        filled = BAR_WIDTH * done // max(self.total, 1)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        self.stdout.write(f"\r[{bar}] {done}/{self.total} {self.unit}", ending="")
        self.stdout.flush()

    def advance(self, count: int) -> None:
        self.show(self.done + count)
