"""A one-line progress bar on a command's stdout (Django's OutputWrapper, so `call_command`
and tests capture it like any output): the commands need a count and a bar, which is not
worth a dependency."""

BAR_WIDTH = 30


def percent(done: int, total: int) -> int:
    return 100 * done // max(total, 1)


class ProgressBar:
    def __init__(self, stdout, unit: str, total: int = 0):
        self.stdout, self.unit, self.total, self.done = stdout, unit, total, 0

    def show(self, done: int, total: int | None = None) -> None:
        previous, self.done = self.done, done
        self.total = self.total if total is None else total
        same_percent = percent(previous, self.total) == percent(done, self.total)
        if 0 < done < self.total and same_percent:
            return  # redrawn once a percent, not once a batch
        filled = BAR_WIDTH * done // max(self.total, 1)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        self.stdout.write(f"\r[{bar}] {done}/{self.total} {self.unit}", ending="")
        self.stdout.flush()

    def advance(self, count: int) -> None:
        self.show(self.done + count)
