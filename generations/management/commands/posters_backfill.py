"""Make the missing posters of succeeded videos (those stored before posters existed, or whose poster failed)."""

from django.core.management.base import BaseCommand

from generations import posters


class Command(BaseCommand):
    help = "Make a poster for every succeeded generation that has a video and no poster."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=None, help="At most this many (default: all).")

    def handle(self, *args, limit=None, **options):
        made, failed = posters.posters_backfill(limit=limit)
        self.stdout.write(f"posters made: {made}, failed: {failed}")
