from typing import Any

from django import forms
from django.conf import settings
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from clearance.uploads import megabytes
from publications.models import (
    Comment,
    Consultation,
    Publication,
    Subscription,
    Theme,
    Topic,
    Version,
)


class CommentForm(forms.Form):
    section = forms.ChoiceField(label=_("Which part of the text"), required=False)
    body = forms.CharField(label=_("Your comment"), widget=forms.Textarea, max_length=20000)
    name = forms.CharField(label=_("Your name"), max_length=200)
    email = forms.EmailField(
        label=_("Email address"),
        help_text=_("We send a link to confirm the comment, then a receipt. It is not published."),
    )
    on_behalf = forms.ChoiceField(
        label=_("You comment for"),
        choices=Comment.OnBehalf.choices,
        initial=Comment.OnBehalf.INDIVIDUAL,
    )
    organisation_name = forms.CharField(
        label=_("Organisation name"),
        max_length=200,
        required=False,
        help_text=_("Only if you comment for an organisation."),
    )
    attachment = forms.FileField(
        label=_("Attachment"),
        required=False,
        help_text=_("A PDF file of at most %(mb)s MB.")
        % {"mb": megabytes(settings.COMMENT_ATTACHMENT_MAX_BYTES)},
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf"}),
    )

    def __init__(self, *args: Any, consultation: Consultation, signed_in: bool, **kwargs: Any):
        super().__init__(*args, **kwargs)
        section = self.fields["section"]
        assert isinstance(section, forms.ChoiceField)
        section.choices = [("", _("The whole text"))] + [
            (anchor, f"§{n} {title}")
            for n, (anchor, title) in enumerate(consultation.version.sections(), start=1)
        ]
        if signed_in:
            del self.fields["name"]
            del self.fields["email"]


class FlagForm(forms.Form):
    reason = forms.CharField(label=_("What is wrong with this comment?"), max_length=300)


class SubscriptionForm(forms.Form):
    email = forms.EmailField(label=_("Email address"))
    topic = forms.ModelChoiceField(
        label=_("Topic"),
        queryset=Topic.objects.all(),
        required=False,
        empty_label=_("Everything published"),
    )
    publication = forms.ModelChoiceField(
        queryset=Publication.objects.all(), required=False, widget=forms.HiddenInput
    )
    frequency = forms.ChoiceField(
        label=_("How often"),
        choices=Subscription.Frequency.choices,
        initial=Subscription.Frequency.IMMEDIATE,
    )


class SearchForm(forms.Form):
    q = forms.CharField(label=_("Search words"), required=False, max_length=200)
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("Any kind")), *Publication.Kind.choices]
    )
    topic = forms.ModelChoiceField(
        label=_("Topic"),
        queryset=Topic.objects.all(),
        required=False,
        to_field_name="slug",
        empty_label=_("Any topic"),
    )
    language = forms.ChoiceField(
        label=_("Language"), required=False, choices=[("", _("Any language")), *settings.LANGUAGES]
    )
    since = forms.DateField(
        label=_("In force since"),
        required=False,
        help_text=_("YYYY-MM-DD"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )


class InForceForm(forms.Form):
    on = forms.DateField(
        label=_("Show the text in force on"), widget=forms.DateInput(attrs={"type": "date"})
    )


class ModerationForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("Publish")), ("reject", _("Reject"))])


class ThemeForm(forms.Form):
    title = forms.CharField(label=_("New theme"), max_length=200)


class CommentThemeForm(forms.Form):
    theme = forms.ModelChoiceField(
        label=_("Theme"), queryset=Theme.objects.none(), required=False, empty_label=_("None")
    )

    def __init__(self, *args: Any, consultation: Consultation, **kwargs: Any):
        super().__init__(*args, **kwargs)
        field = self.fields["theme"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = consultation.themes.all()


class ResponseForm(forms.Form):
    response = forms.CharField(
        label=_("Official response"),
        widget=forms.Textarea,
        help_text=_("Markdown. Published when the final version is."),
    )


class PublishForm(forms.Form):
    effective_date = forms.DateField(
        label=_("Effective date"), widget=forms.DateInput(attrs={"type": "date"})
    )


class PublicationForm(forms.Form):
    slug = forms.SlugField(
        label=_("Address name"), max_length=120, help_text=_("Lower-case words and hyphens.")
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=Publication.Kind.choices)
    topics = forms.ModelMultipleChoiceField(
        label=_("Topics"), queryset=Topic.objects.all(), required=False
    )

    def clean_slug(self) -> str:
        slug: str = self.cleaned_data["slug"]
        if Publication.objects.filter(slug=slug).exists():
            raise forms.ValidationError(_("A publication already has this address name."))
        return slug


class VersionForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    title = forms.CharField(label=_("Title"), max_length=250)
    summary = forms.CharField(label=_("Summary"), widget=forms.Textarea, required=False)
    body = forms.CharField(
        label=_("Text"),
        widget=forms.Textarea,
        help_text=format_lazy(
            "{} {}",
            _("Markdown. Each heading starts a numbered section that readers can comment on."),
            _(
                "Write figures the portal enforces as placeholders, filled in from its settings "
                "and the regime in force: {{ returns_period_days }}, "
                "{{ statement_payment_days }}, {{ threshold }}, {{ tax_threshold }}, "
                "{{ threshold_us }} (any country code after threshold_)."
            ),
        ),
    )
    change_kind = forms.ChoiceField(
        label=_("Kind of change"), choices=Version.Change.choices, initial=Version.Change.MAJOR
    )
    change_note = forms.CharField(
        label=_("Change note"), max_length=500, required=False, help_text=_("Shown in the history.")
    )


class ConsultationForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=250)
    summary = forms.CharField(label=_("Summary"), widget=forms.Textarea)
    questions = forms.CharField(
        label=_("Questions"), widget=forms.Textarea, required=False, help_text=_("One a line.")
    )
    opens_at = forms.DateTimeField(
        label=_("Opens at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    closes_at = forms.DateTimeField(
        label=_("Closes at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
