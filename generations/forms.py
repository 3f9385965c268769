"""The new-video form: the catalog decides what is valid, the form only carries the fields."""

from __future__ import annotations

from django import forms

from generations import catalog
from seedance_saas.errors import InvalidInput

ACCEPT = ",".join(catalog.IMAGE_FORMATS.values())
# The browser shows upload errors on the file fields, whichever name the catalog used.
FIELD_FOR = {"image_url": "image", "end_image_url": "end_image"}


class GenerationForm(forms.Form):
    image = forms.FileField(
        label="First frame",
        required=False,
        help_text="JPEG, PNG or WebP, up to 30 MB. The video starts from this image.",
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
    )
    end_image = forms.FileField(
        label="Last frame (optional)",
        required=False,
        help_text="The video moves toward this image.",
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
    )
    prompt = forms.CharField(
        label="Prompt",
        max_length=catalog.MAX_PROMPT_CHARS,
        required=False,
        help_text="Describe the motion, action, dialogue and camera.",
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "The camera pushes in as waves roll onto the shore."}),
    )
    resolution = forms.ChoiceField(label="Resolution", initial=catalog.DEFAULT_RESOLUTION)
    duration = forms.ChoiceField(
        label="Duration",
        initial=catalog.AUTO,
        choices=[(catalog.AUTO, "Auto (4–15 s)")] + [(d, f"{d} seconds") for d in catalog.DURATIONS[1:]],
    )
    aspect_ratio = forms.ChoiceField(
        label="Aspect ratio",
        initial="auto",
        choices=[(r, "Auto (follow the image)" if r == "auto" else r) for r in catalog.ASPECT_RATIOS],
    )
    generate_audio = forms.BooleanField(label="Generate audio", required=False, initial=True)
    seed = forms.CharField(
        label="Seed (optional)",
        required=False,
        max_length=catalog.MAX_SEED_CHARS,
        help_text="Reuse a seed to get a similar result; reproducibility is best-effort.",
    )
    variations = forms.TypedChoiceField(
        label="Variations",
        coerce=int,
        required=False,
        empty_value=1,  # a form (or an older page) that does not send it makes one video
        initial=1,
        choices=[(n, str(n)) for n in range(1, 5)],
        help_text=(
            "Make 1-4 videos at once, each with a different seed, to compare side by side. A seed does not make "
            "results identical or predictable. Each variation is priced and billed like one video."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["resolution"].choices = [(r, r) for r in catalog.allowed_resolutions()]
        for name in ("image", "end_image"):
            self.fields[name].widget.attrs["data-max-bytes"] = catalog.max_image_bytes()
        self.inputs: catalog.GenerationInputs | None = None

    def clean(self):
        data = super().clean()
        try:
            self.inputs = catalog.validate_inputs(
                prompt=data.get("prompt"),
                resolution=data.get("resolution"),
                duration=data.get("duration"),
                aspect_ratio=data.get("aspect_ratio"),
                generate_audio=bool(data.get("generate_audio")),
                seed=data.get("seed"),
                image=data.get("image") or None,
                end_image=data.get("end_image") or None,
            )
        except InvalidInput as error:
            for field, messages in (error.fields or {}).items():
                name = FIELD_FOR.get(field, field)
                for message in messages:
                    self.add_error(name if name in self.fields else None, message)
        return data
