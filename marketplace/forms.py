from django import forms


class ConnectShopForm(forms.Form):
    base_url = forms.URLField(label="Marketplace API address", max_length=300, assume_scheme="https",
                              widget=forms.URLInput(attrs={"placeholder": "https://api.example-market.com"}))
    api_key = forms.CharField(label="API key", max_length=200, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    # Never rendered back into the page.
    api_secret = forms.CharField(label="API secret", max_length=500, widget=forms.PasswordInput(render_value=False))
    name = forms.CharField(label="Shop name (optional)", max_length=100, required=False)
