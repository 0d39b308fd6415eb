"""Names, types and enum members of the Graph v1.0 types the emulator returns.

The tables list facts from Microsoft Graph's published v1.0 CSDL
(msgraph-metadata, schemas/v1.0-Prod.csdl): for each entity or complex type
its base type and its structural properties with their EDM types, and the
members of each enum these properties use. `schema_violations` checks a
JSON response against them, so property names and enum values cannot drift.
"""

import re

# Type name -> (base type, {property name: EDM type}).
STRUCTURED_TYPES: dict[str, tuple[str | None, dict[str, str]]] = {
    "attendee": (
        "attendeeBase",
        {
            "proposedNewTime": "timeSlot",
            "status": "responseStatus",
        },
    ),
    "attendeeBase": (
        "recipient",
        {
            "type": "attendeeType",
        },
    ),
    "calendar": (
        "entity",
        {
            "allowedOnlineMeetingProviders": "Collection(onlineMeetingProviderType)",
            "canEdit": "Edm.Boolean",
            "canShare": "Edm.Boolean",
            "canViewPrivateItems": "Edm.Boolean",
            "changeKey": "Edm.String",
            "color": "calendarColor",
            "defaultOnlineMeetingProvider": "onlineMeetingProviderType",
            "hexColor": "Edm.String",
            "isDefaultCalendar": "Edm.Boolean",
            "isRemovable": "Edm.Boolean",
            "isTallyingResponses": "Edm.Boolean",
            "name": "Edm.String",
            "owner": "emailAddress",
        },
    ),
    "changeNotification": (
        None,
        {
            "changeType": "changeType",
            "clientState": "Edm.String",
            "encryptedContent": "changeNotificationEncryptedContent",
            "id": "Edm.String",
            "lifecycleEvent": "lifecycleEventType",
            "resource": "Edm.String",
            "resourceData": "resourceData",
            "subscriptionExpirationDateTime": "Edm.DateTimeOffset",
            "subscriptionId": "Edm.Guid",
            "tenantId": "Edm.Guid",
        },
    ),
    "changeNotificationEncryptedContent": (
        None,
        {
            "data": "Edm.String",
            "dataKey": "Edm.String",
            "dataSignature": "Edm.String",
            "encryptionCertificateId": "Edm.String",
            "encryptionCertificateThumbprint": "Edm.String",
        },
    ),
    "dateTimeTimeZone": (
        None,
        {
            "dateTime": "Edm.String",
            "timeZone": "Edm.String",
        },
    ),
    "emailAddress": (
        None,
        {
            "address": "Edm.String",
            "name": "Edm.String",
        },
    ),
    "entity": (
        None,
        {
            "id": "Edm.String",
        },
    ),
    "event": (
        "outlookItem",
        {
            "allowNewTimeProposals": "Edm.Boolean",
            "attendees": "Collection(attendee)",
            "body": "itemBody",
            "bodyPreview": "Edm.String",
            "cancelledOccurrences": "Collection(Edm.String)",
            "end": "dateTimeTimeZone",
            "hasAttachments": "Edm.Boolean",
            "hideAttendees": "Edm.Boolean",
            "iCalUId": "Edm.String",
            "importance": "importance",
            "isAllDay": "Edm.Boolean",
            "isCancelled": "Edm.Boolean",
            "isDraft": "Edm.Boolean",
            "isOnlineMeeting": "Edm.Boolean",
            "isOrganizer": "Edm.Boolean",
            "isReminderOn": "Edm.Boolean",
            "location": "location",
            "locations": "Collection(location)",
            "onlineMeeting": "onlineMeetingInfo",
            "onlineMeetingProvider": "onlineMeetingProviderType",
            "onlineMeetingUrl": "Edm.String",
            "organizer": "recipient",
            "originalEndTimeZone": "Edm.String",
            "originalStart": "Edm.DateTimeOffset",
            "originalStartTimeZone": "Edm.String",
            "recurrence": "patternedRecurrence",
            "reminderMinutesBeforeStart": "Edm.Int32",
            "responseRequested": "Edm.Boolean",
            "responseStatus": "responseStatus",
            "sensitivity": "sensitivity",
            "seriesMasterId": "Edm.String",
            "showAs": "freeBusyStatus",
            "start": "dateTimeTimeZone",
            "subject": "Edm.String",
            "transactionId": "Edm.String",
            "type": "eventType",
            "webLink": "Edm.String",
        },
    ),
    "freeBusyError": (
        None,
        {
            "message": "Edm.String",
            "responseCode": "Edm.String",
        },
    ),
    "itemBody": (
        None,
        {
            "content": "Edm.String",
            "contentType": "bodyType",
        },
    ),
    "location": (
        None,
        {
            "address": "physicalAddress",
            "coordinates": "outlookGeoCoordinates",
            "displayName": "Edm.String",
            "locationEmailAddress": "Edm.String",
            "locationType": "locationType",
            "locationUri": "Edm.String",
            "uniqueId": "Edm.String",
            "uniqueIdType": "locationUniqueIdType",
        },
    ),
    "onlineMeetingInfo": (
        None,
        {
            "conferenceId": "Edm.String",
            "joinUrl": "Edm.String",
            "phones": "Collection(phone)",
            "quickDial": "Edm.String",
            "tollFreeNumbers": "Collection(Edm.String)",
            "tollNumber": "Edm.String",
        },
    ),
    "outlookGeoCoordinates": (
        None,
        {
            "accuracy": "Edm.Double",
            "altitude": "Edm.Double",
            "altitudeAccuracy": "Edm.Double",
            "latitude": "Edm.Double",
            "longitude": "Edm.Double",
        },
    ),
    "outlookItem": (
        "entity",
        {
            "categories": "Collection(Edm.String)",
            "changeKey": "Edm.String",
            "createdDateTime": "Edm.DateTimeOffset",
            "lastModifiedDateTime": "Edm.DateTimeOffset",
        },
    ),
    "patternedRecurrence": (
        None,
        {
            "pattern": "recurrencePattern",
            "range": "recurrenceRange",
        },
    ),
    "phone": (
        None,
        {
            "language": "Edm.String",
            "number": "Edm.String",
            "region": "Edm.String",
            "type": "phoneType",
        },
    ),
    "physicalAddress": (
        None,
        {
            "city": "Edm.String",
            "countryOrRegion": "Edm.String",
            "postalCode": "Edm.String",
            "state": "Edm.String",
            "street": "Edm.String",
        },
    ),
    "recipient": (
        None,
        {
            "emailAddress": "emailAddress",
        },
    ),
    "recurrencePattern": (
        None,
        {
            "dayOfMonth": "Edm.Int32",
            "daysOfWeek": "Collection(dayOfWeek)",
            "firstDayOfWeek": "dayOfWeek",
            "index": "weekIndex",
            "interval": "Edm.Int32",
            "month": "Edm.Int32",
            "type": "recurrencePatternType",
        },
    ),
    "recurrenceRange": (
        None,
        {
            "endDate": "Edm.Date",
            "numberOfOccurrences": "Edm.Int32",
            "recurrenceTimeZone": "Edm.String",
            "startDate": "Edm.Date",
            "type": "recurrenceRangeType",
        },
    ),
    "resourceData": (
        None,
        {},
    ),
    "responseStatus": (
        None,
        {
            "response": "responseType",
            "time": "Edm.DateTimeOffset",
        },
    ),
    "scheduleInformation": (
        None,
        {
            "availabilityView": "Edm.String",
            "error": "freeBusyError",
            "scheduleId": "Edm.String",
            "scheduleItems": "Collection(scheduleItem)",
            "workingHours": "workingHours",
        },
    ),
    "scheduleItem": (
        None,
        {
            "end": "dateTimeTimeZone",
            "isPrivate": "Edm.Boolean",
            "location": "Edm.String",
            "start": "dateTimeTimeZone",
            "status": "freeBusyStatus",
            "subject": "Edm.String",
        },
    ),
    "subscription": (
        "entity",
        {
            "applicationId": "Edm.String",
            "changeType": "Edm.String",
            "clientState": "Edm.String",
            "creatorId": "Edm.String",
            "encryptionCertificate": "Edm.String",
            "encryptionCertificateId": "Edm.String",
            "expirationDateTime": "Edm.DateTimeOffset",
            "includeResourceData": "Edm.Boolean",
            "latestSupportedTlsVersion": "Edm.String",
            "lifecycleNotificationUrl": "Edm.String",
            "notificationQueryOptions": "Edm.String",
            "notificationUrl": "Edm.String",
            "notificationUrlAppId": "Edm.String",
            "resource": "Edm.String",
        },
    ),
    "timeSlot": (
        None,
        {
            "end": "dateTimeTimeZone",
            "start": "dateTimeTimeZone",
        },
    ),
    "timeZoneBase": (
        None,
        {
            "name": "Edm.String",
        },
    ),
    "workingHours": (
        None,
        {
            "daysOfWeek": "Collection(dayOfWeek)",
            "endTime": "Edm.TimeOfDay",
            "startTime": "Edm.TimeOfDay",
            "timeZone": "timeZoneBase",
        },
    ),
}

# Enum type -> its members.
ENUM_MEMBERS: dict[str, set[str]] = {
    "attendeeType": {"optional", "required", "resource"},
    "bodyType": {"html", "text"},
    "calendarColor": {
        "auto",
        "lightBlue",
        "lightYellow",
        "lightGray",
        "lightGreen",
        "lightBrown",
        "maxColor",
        "lightTeal",
        "lightRed",
        "lightOrange",
        "lightPink",
    },
    "changeType": {"updated", "created", "deleted"},
    "dayOfWeek": {
        "monday",
        "friday",
        "tuesday",
        "thursday",
        "wednesday",
        "saturday",
        "sunday",
    },
    "eventType": {"exception", "singleInstance", "occurrence", "seriesMaster"},
    "freeBusyStatus": {
        "unknown",
        "busy",
        "free",
        "oof",
        "workingElsewhere",
        "tentative",
    },
    "importance": {"high", "low", "normal"},
    "lifecycleEventType": {"reauthorizationRequired", "subscriptionRemoved", "missed"},
    "locationType": {
        "geoCoordinates",
        "streetAddress",
        "default",
        "localBusiness",
        "hotel",
        "homeAddress",
        "restaurant",
        "businessAddress",
        "postalAddress",
        "conferenceRoom",
    },
    "locationUniqueIdType": {
        "unknown",
        "directory",
        "private",
        "locationStore",
        "bing",
    },
    "onlineMeetingProviderType": {
        "skypeForBusiness",
        "unknown",
        "teamsForBusiness",
        "skypeForConsumer",
    },
    "phoneType": {
        "radio",
        "homeFax",
        "other",
        "business",
        "home",
        "mobile",
        "pager",
        "otherFax",
        "assistant",
        "businessFax",
    },
    "recurrencePatternType": {
        "absoluteMonthly",
        "daily",
        "absoluteYearly",
        "relativeMonthly",
        "weekly",
        "relativeYearly",
    },
    "recurrenceRangeType": {"numbered", "endDate", "noEnd"},
    "responseType": {
        "none",
        "notResponded",
        "tentativelyAccepted",
        "accepted",
        "declined",
        "organizer",
    },
    "sensitivity": {"confidential", "personal", "normal", "private"},
    "weekIndex": {"last", "fourth", "third", "first", "second"},
}

# Open types accept properties beyond those declared. The CSDL also marks
# event as open, but the checker accepts only the declared properties of events
# so that a misspelt name is caught.
OPEN_TYPES = {"resourceData"}

# Navigation properties a response may carry when the request $expand-ed them.
NAVIGATION_PROPERTIES = {"event": {"singleValueExtendedProperties"}}

DATE_TIME_OFFSET = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$"
)
DATE = re.compile(r"^\d{4}-\d\d-\d\d$")
TIME_OF_DAY = re.compile(r"^\d\d:\d\d:\d\d(\.\d{1,7})?$")
GUID = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I
)


def all_properties(type_name: str) -> dict[str, str]:
    """Return the properties of a type including those of its base types."""
    base, properties = STRUCTURED_TYPES[type_name]
    inherited = all_properties(base) if base else {}
    return {**inherited, **properties}


def schema_violations(value: object, type_name: str, path: str = "$") -> list[str]:
    """Return every way `value` departs from the named Graph type."""
    if value is None:
        return []
    if type_name.startswith("Collection("):
        if not isinstance(value, list):
            return [f"{path}: expected a list for {type_name}, got {value!r}"]
        item_type = type_name[len("Collection(") : -1]
        problems = []
        for index, item in enumerate(value):
            problems.extend(schema_violations(item, item_type, f"{path}[{index}]"))
        return problems
    if type_name in ENUM_MEMBERS:
        if value not in ENUM_MEMBERS[type_name]:
            return [f"{path}: {value!r} is not a member of {type_name}"]
        return []
    if type_name in STRUCTURED_TYPES:
        return structured_violations(value, type_name, path)
    return primitive_violations(value, type_name, path)


def structured_violations(value: object, type_name: str, path: str) -> list[str]:
    """Check an object against an entity or complex type."""
    if not isinstance(value, dict):
        return [f"{path}: expected an object of type {type_name}, got {value!r}"]

    properties = all_properties(type_name)
    navigation = NAVIGATION_PROPERTIES.get(type_name, set())
    problems = []
    for name, item in value.items():
        if name.startswith("@") or "@odata." in name or name in navigation:
            continue
        if name not in properties and type_name in OPEN_TYPES:
            continue
        if name not in properties:
            problems.append(f"{path}.{name}: no such property on {type_name}")
            continue
        problems.extend(schema_violations(item, properties[name], f"{path}.{name}"))
    return problems


def primitive_violations(value: object, type_name: str, path: str) -> list[str]:
    """Check a primitive EDM value."""
    checks = {
        "Edm.String": lambda item: isinstance(item, str),
        "Edm.Boolean": lambda item: isinstance(item, bool),
        "Edm.Int32": lambda item: isinstance(item, int) and not isinstance(item, bool),
        "Edm.Double": lambda item: isinstance(item, int | float),
        "Edm.DateTimeOffset": lambda item: bool(DATE_TIME_OFFSET.match(str(item))),
        "Edm.Date": lambda item: bool(DATE.match(str(item))),
        "Edm.TimeOfDay": lambda item: bool(TIME_OF_DAY.match(str(item))),
        "Edm.Guid": lambda item: bool(GUID.match(str(item))),
    }
    check = checks.get(type_name)
    if check is None:
        return [f"{path}: the checker does not know the type {type_name}"]
    if not check(value):
        return [f"{path}: {value!r} is not a valid {type_name}"]
    return []
