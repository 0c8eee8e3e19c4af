"""Login, logout, profile, and the admin's user management."""

from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request,
                   url_for)
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from portal.accounts import services
from portal.accounts.forms import (LoginForm, PasswordChangeForm, ProfileForm, ResetPasswordForm,
                                   UserForm)
from portal.accounts.models import User
from portal.core import limits
from portal.core.auth import admin_required
from portal.core.forms import EmptyForm
from portal.core.timezones import all_zone_names
from portal.core.urls import safe_next
from portal.extensions import db

bp = Blueprint("accounts", __name__)


@bp.route("/login", methods=["GET", "POST"])
@limits.limit("LOGIN_LIMIT_PER_ACCOUNT", key_func=limits.login_account_key, methods=["POST"],
              deduct_when=limits.failed_form, scope="login-account")
@limits.limit("LOGIN_LIMIT_PER_ADDRESS", methods=["POST"], deduct_when=limits.failed_form,
              scope="login-address")
def login():
    if current_user.is_authenticated:
        return redirect(url_for("crm.calendar"))
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors.append("Wrong email or password, or the account is deactivated.")
        else:
            login_user(user, remember=form.remember.data)
            return redirect(safe_next(request.args.get("next")) or url_for("crm.calendar"))
    return render_template("accounts/login.html", form=form, title="Log in")


@bp.post("/logout")
@login_required
def logout():
    if EmptyForm().validate_on_submit():
        # Everywhere: a copied session or remember cookie stops working too.
        current_user.end_sessions()
        db.session.commit()
        logout_user()
        flash("You are logged out.", "info")
    return redirect(url_for("accounts.login"))


def _new_password(user, field):
    """Give ``user`` the password typed in ``field`` and commit (True), or put the rule it
    breaks on the field (False). Every other session of the user ends."""
    try:
        services.set_password(user, field.data)
    except services.PasswordRejected as exc:
        field.errors.append(str(exc))
        return False
    db.session.commit()
    _stay_logged_in(user)
    return True


def _stay_logged_in(user):
    """After ``user``'s sessions were ended by their own hand (a password change): keep
    this browser logged in, with a remember cookie again if it had one."""
    if user.id == current_user.id:
        remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") \
            in request.cookies
        login_user(user, remember=remembered)


@bp.route("/profile", methods=["GET", "POST"])
@login_required
@limits.limit("PASSWORD_CHANGE_LIMIT", key_func=limits.user_key, methods=["POST"],
              deduct_when=limits.failed_form, scope="password-change",
              exempt_when=lambda: "pw-submit" not in request.form)
def profile():
    form = ProfileForm(obj=current_user)
    password_form = PasswordChangeForm(prefix="pw")
    if form.submit.data and form.validate_on_submit():
        try:
            services.update_user(current_user, email=form.email.data, name=form.name.data,
                                 time_zone=form.time_zone.data)
        except services.AccountError as exc:
            form.email.errors.append(str(exc))
        else:
            db.session.commit()
            flash("Profile saved.", "success")
            return redirect(url_for("accounts.profile"))
    elif password_form.submit.data and password_form.validate_on_submit():
        if not current_user.check_password(password_form.current_password.data):
            password_form.current_password.errors.append("That is not your current password.")
        elif _new_password(current_user._get_current_object(), password_form.new_password):
            flash("Password changed; you were logged out everywhere else.", "success")
            return redirect(url_for("accounts.profile"))
    return render_template("accounts/profile.html", form=form, password_form=password_form,
                           zones=all_zone_names(), title="Profile")


from portal.accounts import email_routes  # noqa: E402,F401  (registers the email views on bp)


@bp.get("/admin/users")
@admin_required
def admin_users():
    users = db.session.scalars(select(User).order_by(User.active.desc(), User.name)).all()
    return render_template("accounts/admin_users.html", users=users, title="Users")


@bp.route("/admin/users/new", methods=["GET", "POST"])
@admin_required
def admin_user_new():
    form = UserForm()
    if form.validate_on_submit():
        if not form.password.data:
            form.password.errors.append("A new user needs a password.")
        else:
            try:
                user = services.create_user(email=form.email.data, name=form.name.data,
                                            password=form.password.data, role=form.role.data,
                                            time_zone=form.time_zone.data, active=form.active.data)
            except services.PasswordRejected as exc:
                form.password.errors.append(str(exc))
            except services.AccountError as exc:
                form.email.errors.append(str(exc))
            else:
                db.session.commit()
                flash(f"User {user.name} created.", "success")
                return redirect(url_for("accounts.admin_users"))
    return render_template("accounts/admin_user_form.html", form=form, user=None,
                           zones=all_zone_names(), title="New user")


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@admin_required
def admin_user_edit(user_id):
    user = db.session.get(User, user_id) or abort(404)
    form = UserForm(obj=user)
    if form.validate_on_submit():
        try:
            services.update_user(user, email=form.email.data, name=form.name.data,
                                 time_zone=form.time_zone.data, role=form.role.data,
                                 active=form.active.data)
            if form.password.data:
                services.set_password(user, form.password.data)
        except services.PasswordRejected as exc:
            db.session.rollback()
            form.password.errors.append(str(exc))
        except services.AccountError as exc:
            field = form.role if "admin" in str(exc) else form.email
            field.errors.append(str(exc))
        else:
            db.session.commit()
            _stay_logged_in(user)
            flash(f"User {user.name} saved.", "success")
            return redirect(url_for("accounts.admin_users"))
    return render_template("accounts/admin_user_form.html", form=form, user=user,
                           zones=all_zone_names(), title=f"Edit {user.name}")


@bp.post("/admin/users/<int:user_id>/active")
@admin_required
def admin_user_toggle_active(user_id):
    user = db.session.get(User, user_id) or abort(404)
    if EmptyForm().validate_on_submit():
        try:
            services.update_user(user, email=user.email, name=user.name, time_zone=user.time_zone,
                                 active=not user.active)
        except services.AccountError as exc:
            flash(str(exc), "danger")
        else:
            db.session.commit()
            flash(f"{user.name} is now {'active' if user.active else 'deactivated'}.", "success")
    return redirect(url_for("accounts.admin_users"))


@bp.route("/admin/users/<int:user_id>/password", methods=["GET", "POST"])
@admin_required
def admin_user_password(user_id):
    user = db.session.get(User, user_id) or abort(404)
    form = ResetPasswordForm()
    if form.validate_on_submit() and _new_password(user, form.password):
        flash(f"Password of {user.name} reset; they were logged out everywhere.", "success")
        return redirect(url_for("accounts.admin_users"))
    return render_template("accounts/admin_user_password.html", form=form, user=user,
                           title="Reset password")
