from django.urls import path

from peyvand.commerce import views

app_name = "commerce"
urlpatterns = [
    path("orders/", views.order_list, name="order_list"),
    path("orders/<int:pk>/", views.order_detail, name="order_detail"),
    path("products/", views.product_list, name="product_list"),
    path("sources/", views.source_list, name="source_list"),
    path("settings/", views.money_settings_view, name="money_settings"),
    path("sources/<int:pk>/", views.source_detail, name="source_detail"),
    path("sources/<int:pk>/active/", views.source_active, name="source_active"),
    path("deliveries/<int:pk>/", views.delivery_detail, name="delivery_detail"),
    path("deliveries/<int:pk>/retry/", views.delivery_retry, name="delivery_retry"),
]

# Mounted at the site root as `path("hooks/", include(hooks))`: shops post here, signed
# with their secret, without a session or CSRF token.
hooks = ([path("woocommerce/<str:token>/", views.woocommerce_hook, name="woocommerce")],
         "hooks")
