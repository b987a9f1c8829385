app_name = "mockups"

urlpatterns = []

api_urlpatterns = []
