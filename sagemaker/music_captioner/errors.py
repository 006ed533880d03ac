"""Failures the job reports in /opt/ml/output/message; the class name leads the message."""


class CaptionJobError(Exception):
    """A failure with a reason worth showing in the Step Functions history."""

    name = "CaptionJobError"

    def describe(self) -> str:
        return f"{self.name}: {self}"


class InvalidInput(CaptionJobError):
    """The windows, the manifest or the settings break the contract in core/contract.ts."""

    name = "InvalidInput"


class ModelUnavailable(CaptionJobError):
    """The weights, torch, transformers or the LP-MusicCaps package cannot be loaded."""

    name = "ModelUnavailable"
