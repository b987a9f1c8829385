from django import forms
from django.contrib.auth.forms import UserCreationForm


class SignupForm(UserCreationForm):
    # Required: order mail goes to the account's address and nowhere else (orders.services.order_contact_email).
    email = forms.EmailField(help_text="Order confirmations and updates are sent here.")

    class Meta(UserCreationForm.Meta):
        fields = ("username", "email")


class EmailChangeForm(forms.Form):
    email = forms.EmailField(label="New e-mail address")
    password = forms.CharField(label="Current password", strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
