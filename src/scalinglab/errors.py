"""The one exception type that means "the user gave us something wrong".

The CLI turns a UserError into a single line on stderr and exit status 2, without a traceback.
Anything else escaping is a bug in scalinglab and keeps its traceback.
"""


class UserError(Exception):
    """Bad input: a file, field, column or value the user must fix. The message names it."""
