"""The "Communication options" page: a user's other email addresses."""
from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import EmailField, SubmitField
from wtforms.validators import DataRequired, Email, Length

from portal.accounts import emails
from portal.accounts.routes import bp
from portal.accounts.services import AccountError
from portal.core.forms import EmptyForm
from portal.extensions import db


class OtherEmailForm(FlaskForm):
    email = EmailField("Another email address",
                       validators=[DataRequired("Enter an email address."),
                                   Email("Enter a valid email address."), Length(max=254)],
                       description="A Google account or alias that invitations reach you at.")
    submit = SubmitField("Add address")


@bp.route("/profile/emails", methods=["GET", "POST"])
@login_required
def communication_options():
    form = OtherEmailForm()
    if form.validate_on_submit():
        try:
            emails.add_email(current_user, form.email.data)
        except AccountError as exc:
            db.session.rollback()
            form.email.errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"{form.email.data.strip().lower()} is now one of your addresses.", "success")
            return redirect(url_for("accounts.communication_options"))
    return render_template("accounts/communication_options.html", form=form,
                           addresses=emails.other_emails(current_user), remove_form=EmptyForm(),
                           title="Communication options")


@bp.post("/profile/emails/<int:email_id>/delete")
@login_required
def communication_option_delete(email_id):
    if not EmptyForm().validate_on_submit():
        abort(400)
    if not emails.remove_email(current_user, email_id):
        abort(404)
    db.session.commit()
    flash("Address removed.", "info")
    return redirect(url_for("accounts.communication_options"))
