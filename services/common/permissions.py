"""Roles and what each may do: one table, deny by default (no ifs in handlers).

A route declares the permission it needs; a caller holds the union of their roles' permissions.
"""

from collections.abc import Iterable
from enum import StrEnum


class Role(StrEnum):
    COUNTY_ADMIN = "county_admin"  # 县级管理员
    TOWNSHIP_OFFICER = "township_officer"  # 乡镇干部
    FIRST_SECRETARY = "first_secretary"  # 第一书记
    TEAM_MEMBER = "team_member"  # 驻村队员
    CONTACT_LEADER = "contact_leader"  # 联系村领导
    BRANCH_SECRETARY = "branch_secretary"  # 支部书记
    INSPECTOR = "inspector"  # 督导组成员
    HELPER = "helper"  # 帮扶责任人
    CONDUCT_SUPERVISOR = "conduct_supervisor"  # 驻村风气监督员
    VIEWER = "viewer"  # 只读
    INTEGRATION = "integration"  # 机器客户端（防返贫监测系统等）


class Permission(StrEnum):
    CHECKIN_RECORD = "attendance.checkin.record"
    CHECKIN_READ = "attendance.checkin.read"
    CHECKIN_READ_POSITION = "attendance.checkin.read_position"  # where exactly, not only when
    CHECKIN_REVIEW = "attendance.checkin.review"  # accept or reject a (flagged) check-in
    PHOTO_UPLOAD = "attendance.photo.upload"  # a check-in's or a spot check's photo
    ROSTER_READ = "attendance.roster.read"
    ROSTER_MANAGE = "attendance.roster.manage"  # work teams and check-in areas
    LEAVE_REQUEST = "attendance.leave.request"  # a cadre asks for leave, training, a trip
    LEAVE_READ = "attendance.leave.read"
    LEAVE_APPROVE = "attendance.leave.approve"  # and the county's rule says whose requests
    DAYS_READ = "attendance.days.read"  # days in the village, the county's rule, the reports
    RULE_MANAGE = "attendance.rule.manage"  # the county's attendance rule
    SPOTCHECK_RECORD = "attendance.spotcheck.record"  # 明察暗访
    SUPERVISION_READ = "attendance.supervision.read"  # spot checks, talks (and conduct reports)
    CONDUCT_REPORT = "attendance.conduct.report"  # 驻村风气监督员's report
    CONDUCT_READ = "attendance.conduct.read"  # the conduct reports: supervision, and their authors
    TALK_RECORD = "attendance.talk.record"  # 谈心谈话
    MESSAGE_READ = "notify.message.read"
    CONTACT_READ = "notify.contact.read"  # who is reached how (phones masked)
    CONTACT_MANAGE = "notify.contact.manage"  # upload lists, units' contacts, opt-outs
    TEMPLATE_MANAGE = "notify.template.manage"
    ROUTE_MANAGE = "notify.route.manage"  # which event alerts whom
    CAMPAIGN_READ = "notify.campaign.read"  # campaigns, festivals, their progress
    CAMPAIGN_MANAGE = "notify.campaign.manage"  # greeting campaigns within one's scope
    FESTIVAL_MANAGE = "notify.festival.manage"  # a county's ethnic festivals' dates
    REGION_READ = "gateway.region.read"
    USER_READ = "gateway.user.read"
    USER_MANAGE = "gateway.user.manage"
    API_KEY_MANAGE = "gateway.api_key.manage"
    AUDIT_READ = "audit.read"
    PHONE_READ_CLEAR = "sensitive.phone.read_clear"
    OPERATIONS = "operations.manage"  # dead letters, job runs


P = Permission
_EVERYONE = {P.REGION_READ}
_CHECKINS = {
    P.CHECKIN_READ,
    P.CHECKIN_READ_POSITION,
    P.ROSTER_READ,
    P.MESSAGE_READ,
    P.LEAVE_READ,
    P.DAYS_READ,
}
_CADRE = _EVERYONE | _CHECKINS | {P.CHECKIN_RECORD, P.LEAVE_REQUEST, P.PHOTO_UPLOAD}
_SUPERVISION = _EVERYONE | _CHECKINS | {P.USER_READ, P.SUPERVISION_READ, P.CONDUCT_READ}
_READ_ONLY = {P.CHECKIN_READ, P.ROSTER_READ, P.LEAVE_READ, P.DAYS_READ}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.COUNTY_ADMIN: frozenset(Permission),
    Role.TOWNSHIP_OFFICER: frozenset(
        _SUPERVISION
        | {
            P.PHONE_READ_CLEAR,
            P.ROSTER_MANAGE,
            P.CHECKIN_REVIEW,
            P.LEAVE_APPROVE,
            P.SPOTCHECK_RECORD,
            P.PHOTO_UPLOAD,
            P.TALK_RECORD,
            P.CONTACT_READ,
            P.CONTACT_MANAGE,
            P.CAMPAIGN_READ,
            P.CAMPAIGN_MANAGE,
        }
    ),
    # A first secretary leads the team: by default they approve their members' leave.
    Role.FIRST_SECRETARY: frozenset(_CADRE | {P.USER_READ, P.LEAVE_APPROVE}),
    Role.TEAM_MEMBER: frozenset(_CADRE),
    Role.CONTACT_LEADER: frozenset(
        _SUPERVISION | {P.PHONE_READ_CLEAR, P.CHECKIN_REVIEW, P.LEAVE_APPROVE, P.TALK_RECORD}
    ),
    # 支部书记 answers for the members' presence: a county may name them to approve leave.
    Role.BRANCH_SECRETARY: frozenset(_SUPERVISION | {P.LEAVE_APPROVE}),
    Role.INSPECTOR: frozenset(
        _SUPERVISION | {P.CHECKIN_REVIEW, P.SPOTCHECK_RECORD, P.PHOTO_UPLOAD}
    ),
    Role.HELPER: frozenset(_EVERYONE | {P.MESSAGE_READ}),
    # A villager: reads their village's conduct reports (what they filed), not the spot
    # checks or the cadres' heart-to-heart talks.
    Role.CONDUCT_SUPERVISOR: frozenset(_EVERYONE | {P.CONDUCT_REPORT, P.CONDUCT_READ}),
    Role.VIEWER: frozenset(_EVERYONE | _READ_ONLY | {P.USER_READ}),
    Role.INTEGRATION: frozenset(_EVERYONE | _READ_ONLY),
}


def permissions_of(roles: Iterable[str]) -> frozenset[Permission]:
    """The union of the roles' permissions; a role this table does not know grants nothing."""
    granted: set[Permission] = set()
    for role in roles:
        if role in Role.__members__.values():
            granted |= ROLE_PERMISSIONS[Role(role)]
    return frozenset(granted)
