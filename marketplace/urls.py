app_name = "marketplace"

urlpatterns = []

api_urlpatterns = []
