from notifications import tags


class TestTagsIn:
    def test_lists_each_tag_once_in_order_of_first_use(self):
        text = "Dear #customer.name, pay #amount by #due_date. Thanks, #customer.name."

        assert tags.tags_in(text) == ["customer.name", "amount", "due_date"]

    def test_ignores_escaped_hashes_numbers_entities_and_anchors(self):
        text = "Order ##1 costs #1, see page#top and &#39;quotes&#39;; ##literal"

        assert tags.tags_in(text) == []


class TestUnknownTags:
    def test_names_tags_outside_the_vocabulary(self):
        assert tags.unknown_tags("Hi #customer.nickname, #amount #customer.name.upper") == [
            "customer.nickname", "customer.name.upper",
        ]

    def test_names_tags_outside_an_allowed_set(self):
        assert tags.unknown_tags("#amount #invoice.number", allowed=["amount"]) == ["invoice.number"]


class TestRender:
    def test_replaces_tags_with_their_values(self):
        text = "Dear #customer.name,\nplease pay #amount for invoice #invoice.number: #pay_link."

        rendered = tags.render(text, {"customer.name": "Harriet", "amount": "£12.50", "invoice.number": "INV-7",
                                      "pay_link": "https://pay.example/p/1"})

        assert rendered == "Dear Harriet,\nplease pay £12.50 for invoice INV-7: https://pay.example/p/1."

    def test_a_known_tag_without_a_value_becomes_empty_and_an_unknown_one_stays(self):
        assert tags.render("Due #due_date. #hashtag", {"hashtag": "x"}) == "Due . #hashtag"

    def test_writes_a_literal_hash_for_a_double_one(self):
        assert tags.render("Ref ##amount is #amount", {"amount": "£1"}) == "Ref #amount is £1"

    def test_does_not_substitute_inside_values(self):
        assert tags.render("#customer.name", {"customer.name": "#amount {{ x }}", "amount": "£1"}) == "#amount {{ x }}"


class TestTheSandbox:
    def test_django_template_syntax_is_only_text(self, settings):
        text = "{{ settings.SECRET_KEY }} {% load static %}{% debug %} {{ customer.tenant.api_keys.all }}"

        rendered = tags.render(text, {"customer.name": "Harriet"})

        assert rendered == text
        assert settings.SECRET_KEY not in rendered

    def test_tags_reach_only_the_values_given(self):
        text = "#customer.__class__ #customer.name.__dict__ #tenant.pk #customer.password"

        rendered = tags.render(text, {"customer.name": "Harriet"})

        assert rendered == "#customer.__class__ Harriet.__dict__ #tenant.pk #customer.password"
        assert tags.unknown_tags(text) == ["customer", "tenant.pk", "customer.password"]
