from django.urls import path

from accounts import views

urlpatterns = [
    path("app/", views.dashboard, name="dashboard"),
    path("app/settings/", views.profile, name="profile"),
    path("app/organizations/switch/", views.organization_switch, name="organization_switch"),
    path("app/team/", views.team, name="team"),
    path("app/team/invitations/", views.team_invite, name="team_invite"),
    path("app/team/invitations/<int:invitation_id>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("app/team/members/<int:membership_id>/role/", views.member_role, name="member_role"),
    path("app/team/members/<int:membership_id>/remove/", views.member_remove, name="member_remove"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("app/developers/", views.developers, name="developers"),
    path("app/developers/keys/", views.api_key_create, name="api_key_create"),
    path("app/developers/keys/<int:api_key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
]
