"""Check an Outlook add-in XML manifest (MailApp) for appointments.

Office validates a manifest against its XML schema, which fixes the order of
`OfficeApp`'s children. A manifest with elements out of order fails to
sideload (learn.microsoft.com, "Office Add-ins XML manifest"). The order and
the required children below are those of the MailApp type in that schema.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree

from manifests.errors import ManifestError

OFFICE = "http://schemas.microsoft.com/office/appforoffice/1.1"
OVERRIDES = "http://schemas.microsoft.com/office/mailappversionoverrides"
BASIC = "http://schemas.microsoft.com/office/officeappbasictypes/1.0"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"

#: MailApp's children in schema order.
MAIL_APP_ORDER = (
    "Id",
    "AlternateId",
    "Version",
    "ProviderName",
    "DefaultLocale",
    "DisplayName",
    "Description",
    "IconUrl",
    "HighResolutionIconUrl",
    "SupportUrl",
    "AppDomains",
    "Hosts",
    "Requirements",
    "FormSettings",
    "Permissions",
    "Rule",
    "DisableEntityHighlighting",
    "VersionOverrides",
)

#: Children the schema requires, plus the icons, support page and command
#: surfaces that Tandem's add-in depends on.
REQUIRED = (
    "Id",
    "Version",
    "ProviderName",
    "DefaultLocale",
    "DisplayName",
    "Description",
    "IconUrl",
    "HighResolutionIconUrl",
    "SupportUrl",
    "FormSettings",
    "Permissions",
    "Rule",
    "VersionOverrides",
)

OVERRIDES_ORDER = ("Description", "Requirements", "Hosts", "Resources")
PERMISSIONS = frozenset({"Restricted", "ReadItem", "ReadWriteItem", "ReadWriteMailbox"})
SURFACES = ("AppointmentOrganizerCommandSurface", "AppointmentAttendeeCommandSurface")

#: Longest ShortString and LongString values the schema allows.
SHORT_MAX = 125
LONG_MAX = 250

_GUID = re.compile(r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")
_VERSION = re.compile(r"^\d{1,5}(\.\d{1,5}){0,3}$")


def validate_outlook(text: str, base_url: str) -> None:
    """Raise ManifestError listing every fault of a rendered manifest."""
    root = _parse(text)
    problems: list[str] = []

    _check_root(root, problems)
    _check_order(root, problems)
    _check_values(root, problems)
    _check_forms_and_rules(root, problems)
    _check_overrides(root.find(f"{{{OVERRIDES}}}VersionOverrides"), problems)
    _check_urls(root, base_url, problems)

    if problems:
        raise ManifestError(problems)


def outlook_urls(text: str) -> list[str]:
    """Return every URL the manifest names, in document order."""
    root = _parse(text)
    urls = [
        value
        for element in root.iter()
        for value in (element.get("DefaultValue"), element.text)
        if value and value.strip().startswith(("http://", "https://"))
    ]
    return [url.strip() for url in urls]


def _parse(text: str) -> ElementTree.Element:
    try:
        return ElementTree.fromstring(text.encode("utf-8"))
    except ElementTree.ParseError as error:
        raise ManifestError(
            [f"The Outlook manifest is not well-formed XML: {error}."]
        ) from None


def _local(element: ElementTree.Element) -> str:
    return element.tag.rpartition("}")[2]


def _check_root(root: ElementTree.Element, problems: list[str]) -> None:
    if root.tag != f"{{{OFFICE}}}OfficeApp":
        problems.append(
            f"The root element must be OfficeApp in {OFFICE}; found {root.tag}."
        )
    if root.get(XSI_TYPE) != "MailApp":
        problems.append(
            f"OfficeApp xsi:type must be MailApp; found {root.get(XSI_TYPE)!r}."
        )


def _check_order(root: ElementTree.Element, problems: list[str]) -> None:
    names = [_local(child) for child in root]
    last = -1
    for name in names:
        if name not in MAIL_APP_ORDER:
            problems.append(f"Element {name} is not a child MailApp allows.")
            continue
        position = MAIL_APP_ORDER.index(name)
        if position <= last:
            problems.append(
                f"Element {name} is out of order; MailApp's children must follow "
                f"{', '.join(MAIL_APP_ORDER)}."
            )
        last = max(last, position)
    for name in REQUIRED:
        if name not in names:
            problems.append(f"Required element {name} is missing.")


def _check_values(root: ElementTree.Element, problems: list[str]) -> None:
    ident = root.findtext(f"{{{OFFICE}}}Id", "").strip()
    if not _GUID.match(ident):
        problems.append(f"Id {ident!r} must be a GUID.")
    version = root.findtext(f"{{{OFFICE}}}Version", "").strip()
    if not _VERSION.match(version):
        problems.append(f"Version {version!r} must look like 1.0.0.0.")
    permissions = root.findtext(f"{{{OFFICE}}}Permissions", "").strip()
    if permissions not in PERMISSIONS:
        problems.append(
            f"Permissions {permissions!r} must be one of {sorted(PERMISSIONS)}."
        )
    for name, longest in (("DisplayName", SHORT_MAX), ("Description", LONG_MAX)):
        element = root.find(f"{{{OFFICE}}}{name}")
        value = "" if element is None else element.get("DefaultValue", "")
        if not value or len(value) > longest:
            problems.append(
                f"{name} must have a DefaultValue of 1 to {longest} characters."
            )


def _check_forms_and_rules(root: ElementTree.Element, problems: list[str]) -> None:
    forms = {
        form.get(XSI_TYPE)
        for form in root.iterfind(f"{{{OFFICE}}}FormSettings/{{{OFFICE}}}Form")
    }
    for needed in ("ItemRead", "ItemEdit"):
        if needed not in forms:
            problems.append(f"FormSettings needs a Form of xsi:type {needed}.")
    rules = {
        (rule.get("ItemType"), rule.get("FormType"))
        for rule in root.iter(f"{{{OFFICE}}}Rule")
        if rule.get(XSI_TYPE) == "ItemIs"
    }
    for form_type in ("Read", "Edit"):
        if ("Appointment", form_type) not in rules:
            problems.append(
                "Rule needs an ItemIs rule for ItemType Appointment, "
                f"FormType {form_type}."
            )


def _check_overrides(
    overrides: ElementTree.Element | None, problems: list[str]
) -> None:
    if overrides is None:
        problems.append(f"VersionOverrides in {OVERRIDES} is missing.")
        return
    names = [_local(child) for child in overrides]
    positions = [OVERRIDES_ORDER.index(n) for n in names if n in OVERRIDES_ORDER]
    if positions != sorted(positions) or len(positions) != len(names):
        problems.append(
            f"VersionOverrides' children {names} must be among and in the order "
            f"{', '.join(OVERRIDES_ORDER)}."
        )
    surfaces = {
        point.get(XSI_TYPE)
        for point in overrides.iter(f"{{{OVERRIDES}}}ExtensionPoint")
    }
    for surface in SURFACES:
        if surface not in surfaces:
            problems.append(
                f"VersionOverrides needs an ExtensionPoint of type {surface}."
            )
    _check_resource_ids(overrides, problems)
    _check_string_lengths(overrides, problems)


def _check_resource_ids(overrides: ElementTree.Element, problems: list[str]) -> None:
    resources = overrides.find(f"{{{OVERRIDES}}}Resources")
    defined = (
        {element.get("id") for element in resources.iter() if element.get("id")}
        if resources is not None
        else set()
    )
    for element in overrides.iter():
        resid = element.get("resid")
        if resid is not None and resid not in defined:
            problems.append(f"resid {resid!r} on {_local(element)} names no resource.")


def _check_string_lengths(overrides: ElementTree.Element, problems: list[str]) -> None:
    for group, longest in (("ShortStrings", SHORT_MAX), ("LongStrings", LONG_MAX)):
        path = f".//{{{BASIC}}}{group}/{{{BASIC}}}String"
        for string in overrides.iterfind(path):
            value = string.get("DefaultValue", "")
            if not value or len(value) > longest:
                problems.append(
                    f"String {string.get('id')!r} in {group} must have 1 to "
                    f"{longest} characters; it has {len(value)}."
                )


def _check_urls(root: ElementTree.Element, base_url: str, problems: list[str]) -> None:
    base = base_url.rstrip("/")
    for url in outlook_urls(ElementTree.tostring(root, encoding="unicode")):
        if url != base and not url.startswith(base + "/"):
            problems.append(f"URL {url!r} is not under the base URL {base!r}.")
