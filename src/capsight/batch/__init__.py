"""Batch classification: folders, globs, list files and S3 prefixes in; results, sorted folders and
an HTML report out. ``run_batch`` is the one core that the CLI and the job API call."""

from capsight.batch.options import BatchOptions, BatchProgress, BatchSummary
from capsight.batch.records import ResultRecord
from capsight.batch.runner import run_batch

__all__ = ["BatchOptions", "BatchProgress", "BatchSummary", "ResultRecord", "run_batch"]
