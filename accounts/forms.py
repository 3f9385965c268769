"""Browser forms of accounts: team invitations, roles, API keys."""

from django import forms

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


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label="Key name",
        max_length=100,
        help_text="A name to tell keys apart, such as the server or environment that uses it.",
        widget=forms.TextInput(attrs={"placeholder": "Production server", "autocomplete": "off"}),
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the key a name.")
        return name
