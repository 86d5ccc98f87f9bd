from django.core.exceptions import SuspiciousOperation


class NulInQueryString(SuspiciousOperation):
    pass


def refuse_nul_in_query(get_response):
    """Answer 400 to a NUL byte in a query parameter (name or value): no page here takes
    one, and PostgreSQL refuses it in text, which turned an admin filter or search into
    a server error."""

    def middleware(request):
        if any("\x00" in name or "\x00" in "".join(values) for name, values in request.GET.lists()):
            raise NulInQueryString("NUL byte in a query parameter")
        return get_response(request)

    return middleware
