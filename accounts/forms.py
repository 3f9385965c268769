"""Browser forms of accounts: sign-up, team invitations, roles, API keys."""

from allauth.account import forms as allauth_forms
from allauth.core import context
from django import forms

from accounts import scopes, signup_limits
from accounts.models import Membership, Role


def _roles_for(actor: Membership) -> list[tuple[str, str]]:
    """Only an owner may hand out the owner role."""
    return [(value, label) for value, label in Role.choices if value != Role.OWNER or actor.role == Role.OWNER]


class InvitationForm(forms.Form):
    email = forms.EmailField(
        label="Email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off", "placeholder": "teammate@company.com"}),
    )
    role = forms.ChoiceField(label="Role", choices=Role.choices, initial=Role.MEMBER)

    def __init__(self, *args, actor: Membership, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = _roles_for(actor)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(label="Role", choices=Role.choices)

    def __init__(self, *args, actor: Membership, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = _roles_for(actor)


READ_ONLY_PRESET = "read_only"


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label="Key name",
        max_length=100,
        help_text="A name to tell keys apart, such as the server or environment that uses it.",
        widget=forms.TextInput(attrs={"placeholder": "Production server", "autocomplete": "off"}),
    )

    scopes = forms.MultipleChoiceField(
        label="Scopes",
        required=False,
        choices=list(scopes.SCOPES.items()),
        initial=scopes.all_scopes,
        widget=forms.CheckboxSelectMultiple,
        help_text="What the key may call; a call outside them answers 403 insufficient_scope.",
    )
    # The "Create read-only key" button: one click, whatever boxes are ticked.
    preset = forms.ChoiceField(required=False, choices=[("", "As ticked"), (READ_ONLY_PRESET, "Read-only")])

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the key a name.")
        return name

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("preset") == READ_ONLY_PRESET:
            cleaned["scopes"] = list(scopes.READ_ONLY)
        elif not cleaned.get("scopes") and "scopes" not in self.errors:
            self.add_error("scopes", "Tick at least one scope, or create a read-only key.")
        return cleaned


class NotificationSettingsForm(forms.Form):
    notify_video_finished = forms.BooleanField(
        label="Email me when my video is ready or failed",
        required=False,
        help_text="For videos you make here in the browser. Videos made through the API are reported to the partner.",
    )


class SignupForm(allauth_forms.SignupForm):
    """allauth's sign-up, refused with a message when the day's sign-ups from this network or mailbox are used up."""

    def clean(self):
        cleaned_data = super().clean()
        email = cleaned_data.get("email")
        if email and not self.errors:
            # Counted here, once the sign-up is otherwise valid, so a typo in a password costs nothing.
            refusal = signup_limits.signup_consume(request=context.request, email=email)
            if refusal:
                self.add_error(None, refusal)
        return cleaned_data


class AccountDeleteForm(forms.Form):
    """Deleting one's own account: the password again, so a session left open cannot do it."""

    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That is not your password.")
        return password
