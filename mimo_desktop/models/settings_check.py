"""The model-folder check as the settings show it, in plain words. No Qt here.

Two halves: ``check_folder`` reads the folder (config, tokenizer, shard headers; well under a second),
``add_fit`` adds whether it fits this machine's GPUs at the chosen tensor-parallel size (it needs the GPU
survey, which may import torch). The settings dialog runs both off its GUI thread.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from mimo_desktop.models import GpuSurvey, ModelFolderReport, ModelsError


@dataclass(frozen=True)
class FolderCheck:
    """One finished check, as the panel shows it."""

    folder: str
    report: ModelFolderReport | None
    error: str = ""  # the folder could not be checked at all (missing, a file)
    fit: str = ""  # the fit estimate in words, or why there is none
    fit_warnings: tuple[str, ...] = ()

    @property
    def can_start(self) -> bool:
        return self.report is not None and self.report.can_start

    def blocking_reason(self) -> str:
        """Why the engine cannot start with this folder; empty when it can."""
        if self.error:
            return self.error
        if self.report is None or self.report.can_start:
            return ""
        first = next(p for p in self.report.problems if p.blocks_start)
        return f"The model in this folder cannot start: {first.message}."

    def lines(self) -> list[str]:
        """The report in plain words, one statement a line (the folder itself is in the field above)."""
        if self.report is None:
            return [self.error]
        lines = [_plain(line) for line in self.report.summary_lines()[1:]]
        if self.fit:
            lines.append(self.fit)
        lines.extend(self.fit_warnings)
        return lines


ESTIMATING = "Estimating the GPU memory it needs…"


def check_folder(folder: str) -> FolderCheck:
    """The folder half of the check (config, tokenizer, shard headers): well under a second even for 300 GB."""
    from mimo_desktop.models import check_model_folder

    try:
        report = check_model_folder(folder)
    except ModelsError as exc:
        return FolderCheck(folder, None, error=str(exc))
    if report.config is None or report.config.shape is None:
        return FolderCheck(folder, report,
                           fit="The GPU memory needed cannot be estimated without a usable config.json.")
    return FolderCheck(folder, report, fit=ESTIMATING)


def add_fit(check: FolderCheck, tp: int | None, context_tokens: int, survey: GpuSurvey) -> FolderCheck:
    """The fit half: needs the GPU survey, which may import torch the first time (seconds)."""
    from mimo_desktop.models import estimate_fit_for

    if check.fit != ESTIMATING or check.report is None:
        return check
    try:
        estimate = estimate_fit_for(check.report, tp=tp, context_tokens=context_tokens, gpus=survey.gpus)
    except ModelsError as exc:
        return replace(check, fit=str(exc))
    fit = estimate.message
    if not survey.gpus and survey.reason:
        fit = f"{fit} (GPU check: {survey.reason}.)"
    return replace(check, fit=fit, fit_warnings=estimate.warnings)


def _plain(line: str) -> str:
    if line.startswith("PROBLEM: "):
        return "Missing or broken: " + line.removeprefix("PROBLEM: ")
    return line
