"""Read: each source file's bytes → a Return (sources.read_sources is the way in).

The sizes below are here, not in sources, so that the run can plan its readers' batches
(run/reading) without loading the reader itself, which its reader processes load instead.
"""

STAGE_FILES = 64  # files taken through each stage together (and the most a reader's batch holds)
STAGE_BYTES = 16 * 1024 * 1024  # and no more than this much of them parsed at once
