"""The project's URLs plus the naive baselines, for benchmarks only."""

from bench import naive
from project.urls import urlpatterns as project_urlpatterns

urlpatterns = project_urlpatterns + naive.urlpatterns
