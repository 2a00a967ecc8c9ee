"""The one tag an original carries, `status`, which the originals bucket's lifecycle rules act on (upload's
serverless.yml): written once here for upload, which signs it, and processing, which changes it.

Every upload is signed so that its original arrives `unclaimed`. Claim re-tags it `claimed` once a record owns it,
and MarkRejected `rejected`. Unclaimed and rejected originals expire: so an original that no record ever owned (an
upload to a deleted image's URL whose event was lost, say) is removed even when processing never sees it.
"""

from __future__ import annotations

STATUS_TAG = "status"
UNCLAIMED_ORIGINAL_TAGS = {STATUS_TAG: "unclaimed"}
CLAIMED_ORIGINAL_TAGS = {STATUS_TAG: "claimed"}
REJECTED_ORIGINAL_TAGS = {STATUS_TAG: "rejected"}
