from django.urls import path

from bookings.buyer import views

urlpatterns = [
    path("booking/<str:token>/", views.status_page, name="buyer-status"),
    path("booking/<str:token>/viewing.ics", views.calendar_file, name="buyer-calendar"),
    path("booking/<str:token>/cancel/", views.cancel, name="buyer-cancel"),
]
