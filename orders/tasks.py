"""Worker entry points: ids in, one service call, nothing else."""

from core.tasks import Periodic
from orders import emails


def send_mail(mail_id):
    emails.mail_send(mail_id=mail_id)


def sweep_outgoing_mail():
    return emails.mail_sweep()


PERIODIC = [Periodic("orders: send queued mail", sweep_outgoing_mail, minutes=1)]
